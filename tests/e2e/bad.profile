name = bad
description = a malformed profile for the CLI test
clock_ghz = fast
