"""Operating rules applied to one CRM's leads: routing, SLA, nurture, and their tasks."""
