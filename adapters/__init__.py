"""Chat adapters that connect the coopbot core to the console, Discord and Matrix."""
