"""The sandbox's Salesforce REST surface: login, describe, SOQL query, Bulk 2.0, sObject writes."""
