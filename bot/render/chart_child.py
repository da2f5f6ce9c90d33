"""The chart child (`python -m bot.render.chart_child`): input JSON on stdin, PNG on stdout.

The bot starts it at the start of a weekly summary, so that matplotlib is imported while the
summary is gathered, and the bot's own process never holds matplotlib's memory. One chart
per process: the process exits once it has written it.

Exit status: 0 with the PNG on stdout (or nothing, when stdin closed without any input),
2 for input it will not draw (a reason on stderr), 1 for a failure while drawing."""

from __future__ import annotations

import gc
import sys


def main() -> int:
    # One chart, then the process is gone: no collection is worth its time here (the
    # ~100,000 objects of matplotlib's import would set off several full ones).
    gc.disable()
    from bot.render import chart  # matplotlib: imported before the input is there
    from bot.render.chart_input import INPUT_MAX_BYTES, decode

    data = sys.stdin.buffer.read(INPUT_MAX_BYTES + 1)
    if not data:
        return 0
    try:
        wanted = decode(data)
    except (ValueError, UnicodeDecodeError) as error:
        print(f"chart child: input refused: {error}", file=sys.stderr)
        return 2
    png = chart.draw(wanted)
    sys.stdout.buffer.write(png)
    sys.stdout.buffer.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
