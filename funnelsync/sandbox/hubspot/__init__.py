"""The sandbox's HubSpot CRM v3 surface: objects, search, pipelines, properties, owners, OAuth."""
