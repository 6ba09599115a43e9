"""Site maps: plan images per area and the devices pinned on them."""
