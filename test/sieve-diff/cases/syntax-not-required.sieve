fileinto "Box";
