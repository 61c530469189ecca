"""Salesforce connector (simple-salesforce): auth, SOQL and Bulk 2.0 pulls, collection writes."""
