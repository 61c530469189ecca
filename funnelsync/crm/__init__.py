"""Each CRM declared once: objects, cursor fields, write-back names, vocabulary, factories."""
