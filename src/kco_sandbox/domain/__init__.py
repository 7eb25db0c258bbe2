"""The pure core: order documents, rules and lifecycle. No framework, database, clock or network."""
