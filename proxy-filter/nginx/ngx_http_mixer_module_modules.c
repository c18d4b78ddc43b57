/* The symbols nginx looks up in a dynamic module (what its configure generates as
 * objs/<module>_modules.c). */
#include <ngx_config.h>
#include <ngx_core.h>

extern ngx_module_t ngx_http_mixer_module;

ngx_module_t* ngx_modules[] = {&ngx_http_mixer_module, NULL};

char* ngx_module_names[] = {"ngx_http_mixer_module", NULL};

char* ngx_module_order[] = {NULL};
