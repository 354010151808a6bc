"""The embedded default scheduler: releases run on this host's Docker engine."""
