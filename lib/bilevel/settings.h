/* The bilevel settings' validation (settings.c). */
#ifndef OTK_BILEVEL_SETTINGS_H
#define OTK_BILEVEL_SETTINGS_H

#include <otkit/bilevel.h>

#include "core/core.h"

/* The bounds table, then armijo_c < eta; fails the call naming
 * "settings.FIELD", or returns 0. */
otk_status otkb_validate_settings(otk__call *call,
                                  const otk_bilevel_settings *s);

#endif /* OTK_BILEVEL_SETTINGS_H */
