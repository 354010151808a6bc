"""Publishing images to a registry v2, pinned by digest."""
