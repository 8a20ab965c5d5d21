"""The ground layer every role shares: contracts, features, buckets, units, the model
runtime and the window-assessment semantics. It imports nothing else of the project
(``docs/layers.md``)."""
