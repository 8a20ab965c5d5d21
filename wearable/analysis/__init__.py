"""The analysis library behind the clinician notebooks: tidy pandas DataFrames, no I/O in cells."""
