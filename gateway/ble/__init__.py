"""BLE central: bleak for every radio, with a bleak backend on bumble for simulated ones."""
