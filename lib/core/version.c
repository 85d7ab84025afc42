#include <otkit/base.h>

#define OTK_STR2(x) #x
#define OTK_STR(x) OTK_STR2(x)

const char *otk_version(void)
{
    return OTK_STR(OTK_VERSION_MAJOR) "." OTK_STR(
        OTK_VERSION_MINOR) "." OTK_STR(OTK_VERSION_PATCH);
}

unsigned otk_version_number(void) { return OTK_VERSION_NUMBER; }
