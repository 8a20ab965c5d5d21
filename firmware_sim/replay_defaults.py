"""Defaults of ``wearable sim replay``, light enough for building the command's parser."""

#: The replayed watch's advertised name and identity seed unless told otherwise.
DEFAULT_NAME = "WearReplay-0001"
DEFAULT_SEED = 0
