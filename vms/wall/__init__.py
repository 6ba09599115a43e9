"""The live wall's rules, free of Qt: layout geometry, saved layouts, stream choice, retry."""
