"""What keeps a person unidentifiable in what the gateway uploads (``docs/privacy.md``)."""
