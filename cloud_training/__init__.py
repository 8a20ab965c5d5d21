"""The cloud batch training job: ingest, validate, train, evaluate, convert, gate, publish.

TensorFlow's oneDNN kernels are chosen by CPU (an AVX-512/AMX machine gets other ones,
hence other model bytes from the same seed) and announce themselves on stderr; every
entry point of the job, the baseline build and the tests import this package first, so
training runs on TensorFlow's default kernels and quietly.
"""

import os

os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
