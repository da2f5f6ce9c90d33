"""Pure co-op rules with no I/O: counting, quorum, ranked choice, time, periods, patronage."""
