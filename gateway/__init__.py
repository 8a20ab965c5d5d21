"""The phone gateway service: BLE central, decoders, durable store, background service."""
