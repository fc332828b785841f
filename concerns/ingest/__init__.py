"""Files in: the Ofsted and GIAS files parsed (`parse`) and loaded onto the cases (`load`)."""
