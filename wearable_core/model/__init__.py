"""The anomaly model as every role reads it: the LiteRT runtime, the model file and
manifest, and the checks a model release must pass before it is served."""
