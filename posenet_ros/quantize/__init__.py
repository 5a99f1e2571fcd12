"""int8 models: static quantisation, calibration and the accuracy guard."""
