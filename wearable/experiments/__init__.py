"""Experiments: seeded, reproducible measurements of the whole system over time.

They sit at the top of the layers (``docs/layers.md``): they drive the simulated fleet,
the gateway's pipeline, the training job and model delivery the way production does,
and measure the result. ``wearable experiment learning-curve`` is the first.
"""
