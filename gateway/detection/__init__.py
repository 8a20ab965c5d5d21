"""Detection: window features → safety rules (and the model) → alert assessments."""
