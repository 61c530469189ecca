"""Identity over the state store: link people across CRMs, persist, look up, forget, write back."""
