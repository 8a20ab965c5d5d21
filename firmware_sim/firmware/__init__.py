"""Watch firmware behaviour: clock, flash ring buffer, battery, record encoding."""
