// A user's own header whose path, data/loader.h, is also a Cake folder name: it must be this
// file that "data/loader.h" finds, since Cake's headers live under include/cake/ only.
#pragma once
inline int users_own_loader() { return 42; }
