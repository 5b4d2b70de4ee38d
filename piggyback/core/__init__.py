"""Values and rules every layer shares: models, errors, settings, identities, formatting, URL parameters."""
