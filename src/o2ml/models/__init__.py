"""Models: BDT selections (hipe4ml + XGBoost), ITS2 beta regression, autoencoder, DANN."""
