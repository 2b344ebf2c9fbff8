/**
 * A module resolve hook (see `module.register`) that resolves the way Vite does for a package
 * written only for it: the `svelte` export condition, and `./file` meaning `./file.js`.
 */
export async function resolve(specifier, context, next) {
	const conditions = context.conditions.includes('svelte')
		? context.conditions
		: [...context.conditions, 'svelte'];
	try {
		return await next(specifier, { ...context, conditions });
	} catch (error) {
		if (
			error?.code === 'ERR_MODULE_NOT_FOUND' &&
			specifier.startsWith('.') &&
			!/\.[cm]?js$/.test(specifier)
		) {
			return next(`${specifier}.js`, { ...context, conditions });
		}
		throw error;
	}
}
