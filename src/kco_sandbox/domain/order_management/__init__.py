"""Order Management: the order, its lifecycle table, each operation's rules, opening it."""
