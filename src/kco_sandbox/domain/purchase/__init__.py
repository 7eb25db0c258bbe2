"""The shopper's purchase: personas, sample shoppers, carts, merchant callback answers."""
