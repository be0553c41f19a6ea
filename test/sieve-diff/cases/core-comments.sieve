/* A bracketed comment
   over two lines */ keep; # a hash comment
/**/ if /* inside */ true { discard ; }
