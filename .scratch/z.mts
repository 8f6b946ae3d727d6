import { z } from 'zod';
import { CreateOrder } from '../src/domain/commands.ts';
try { const s = CreateOrder.omit({ type: true, orderId: true }); console.log('omit ok', s.safeParse({customerId:'c',currency:'EUR',lines:[{sku:'a',quantity:1,unitPrice:9007199254740991},{sku:'a',quantity:1,unitPrice:9007199254740991}]}).error?.issues); } catch (e) { console.log('omit threw', (e as Error).message); }
try { CreateOrder.parse({}); } catch (e) { console.log(e instanceof z.ZodError, e.constructor.name); }
