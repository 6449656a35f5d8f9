# One image for every service of the product; docker-compose.yml picks the role per container.
FROM node:24-slim
WORKDIR /app
# Production mode unless told otherwise: the development token issuer is never trusted. The demo
# compose stack sets NODE_ENV=development explicitly because it uses development tokens.
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY . .
# Cohort export files (EXPORTS_DIR in compose): a volume mounted here starts owned by the service's user.
RUN mkdir -p /exports && chown node /exports && chmod 700 /exports
USER node
EXPOSE 4000
CMD ["node", "runtime/service.ts", "gateway"]
