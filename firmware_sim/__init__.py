"""The simulated smartwatch: physiology, anomaly scenarios, firmware, GATT server, radio."""
