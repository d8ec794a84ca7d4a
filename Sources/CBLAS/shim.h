// CBLAS: OpenBLAS's cblas.h on Linux (Debian: libopenblas-dev), Accelerate on Apple platforms.
// The library to link is named in Package.swift (linkerSettings), not here, so that one module
// map serves both platforms.
#ifndef MIXER_CBLAS_SHIM_H
#define MIXER_CBLAS_SHIM_H
#if defined(__APPLE__)
#include <Accelerate/Accelerate.h>
#else
#include <cblas.h>
// OpenBLAS extensions (declared in openblas's cblas.h too; repeated here for clarity).
void openblas_set_num_threads(int num_threads);
int openblas_get_num_threads(void);
char* openblas_get_corename(void);
char* openblas_get_config(void);
#endif
#endif
