print("letterbox")
