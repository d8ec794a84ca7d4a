#ifndef MIXER_CKERNELS_H
#define MIXER_CKERNELS_H

// mixer's numeric kernels, one header (and one .c file) per op family, each in AVX-512, AVX2+FMA
// and portable C, chosen from the CPU at run time (mk_isa.h).
#include "mk_isa.h"          // isa.c: the instruction set in use
#include "mk_parallel.h"     // pool.c: the thread pool of every parallel loop
#include "mk_gemm.h"         // gemm.c: packed-panel matrix products
#include "mk_gemv.h"         // gemv.c: matrix-vector products
#include "mk_softmax.h"      // softmax.c: row softmax / log-softmax
#include "mk_lstm.h"         // lstm.c: the LSTM cell forward and backward, tanh
#include "mk_argmax.h"       // argmax.c: the decoders' row argmax
#include "mk_adam.h"         // adam.c: the Adam update
#include "mk_elementwise.h"  // elementwise.c: add, mul, scale, bias rows, row sums

#endif
