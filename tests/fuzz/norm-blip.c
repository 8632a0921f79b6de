/* libFuzzer target: the blip normaliser (norm.h). */
#define CONNECTOR "blip"
#include "norm.h"
