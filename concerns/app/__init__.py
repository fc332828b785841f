"""The entry points an officer or operator meets: the command line, the demo and the officers' desk."""
