"""What the product writes: letters rendered from their templates, and mail (messages, calendar invitations,
PDF pages, transport)."""
