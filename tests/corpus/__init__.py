"""The bad-input corpus: every malformed or hostile input upgrader reads, and a fuzz target."""
