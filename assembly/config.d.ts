declare const FBR_THREADED: i32;
