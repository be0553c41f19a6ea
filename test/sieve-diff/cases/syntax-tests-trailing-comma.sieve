if anyof (true, ) { keep; }
