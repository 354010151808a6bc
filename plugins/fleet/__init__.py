"""The fleet scheduler: releases run as fleet units across a CoreOS-style cluster."""
