#ifndef TESSERA_CONFIG_PRIV_H
#define TESSERA_CONFIG_PRIV_H

#include "config/config.h"

#endif
