"""HubSpot connector (hubspot-api-client): auth, limits, list and search pulls, batch writes."""
